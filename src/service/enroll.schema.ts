/** Enrollment's input, as the HTTP API and the CLI take it (beside enroll.service.ts, which is long enough). */
import { z } from 'zod';
import { boolish, GalleryRef } from './input.js';
import { MetadataSchema } from './limits.js';
import { ExternalId, PersonName } from './names.js';

/** How a call treats rejected photos and photos of several faces or of someone else. */
export const EnrollInput = z.object({
  onReject: z
    .enum(['fail', 'skip'])
    .default('fail')
    .meta({ description: '"fail": one rejected photo fails the call, nothing is stored; "skip": store the others' }),
  largestFace: boolish.optional().meta({ description: 'Take the largest face of a photo with several' }),
  force: boolish.optional().meta({ description: 'Enroll faces that look unlike the person’s existing faces' }),
  allowDuplicatePerson: boolish.optional().meta({
    description:
      'Enroll a face that is already enrolled as another person of the gallery (the same photo under two names); refused as ' +
      '409 DUPLICATE_PERSON without it',
  }),
});

/** A new person, with the options of the photos enrolled with them. */
export const CreatePersonInput = EnrollInput.extend({
  gallery: GalleryRef.optional(),
  name: PersonName,
  externalId: ExternalId.optional(),
  metadata: MetadataSchema.optional(),
});

/** Photos added to an existing person of the gallery. */
export const AddFacesInput = EnrollInput.extend({ gallery: GalleryRef.optional() });
