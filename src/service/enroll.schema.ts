/** Enrollment's input, as the HTTP API and the CLI take it (beside enroll.service.ts, which is long enough). */
import { z } from 'zod';
import { boolish, GalleryRef } from './input.js';
import { LIMITS, MetadataSchema } from './limits.js';
import { ExternalId, PersonName } from './names.js';

/** A face's box as /v1/detect and `facerec detect` give it: [x, y, width, height] in the photo's pixels. */
const FaceBox = z.tuple([z.number().min(0), z.number().min(0), z.number().positive(), z.number().positive()]);

// A form field or a CLI option is text: the list arrives as its JSON, as metadata does.
const jsonText = (value: unknown, ctx: z.RefinementCtx): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array, such as [[12, 30, 80, 96], null]' });
    return z.NEVER;
  }
};

/** Which face of each photo to enroll, by the photo's position in the call: its box, or null for the default rule. */
export const FaceBoxes = z.preprocess(jsonText, z.array(FaceBox.nullable()).max(LIMITS.photosPerCall)).meta({
  description:
    'For each photo, by its position in the call, the box [x, y, width, height] of the face to enroll (as /v1/detect gives it), ' +
    'or null for the default (its only face, or the largest with largestFace). The face enrolled is the detected face that ' +
    'overlaps the box most (IoU at least 0.5); a photo with none there is rejected as NO_FACE. A JSON array in a form field.',
});

/** How a call treats rejected photos and photos of several faces or of someone else. */
export const EnrollInput = z.object({
  onReject: z
    .enum(['fail', 'skip'])
    .default('fail')
    .meta({ description: '"fail": one rejected photo fails the call, nothing is stored; "skip": store the others' }),
  largestFace: boolish.optional().meta({ description: 'Take the largest face of a photo with several' }),
  faceBoxes: FaceBoxes.optional(),
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
