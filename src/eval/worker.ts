/** The evaluation's worker entry: the production engine plus 'subject', every pipeline's descriptors of one LFW image. */
import { hostEngine } from '../engine/worker-host.js';
import { subjectDescriptors } from './variants.js';

await hostEngine({ subject: (engine, request) => subjectDescriptors(engine, request.bytes as Uint8Array) });
