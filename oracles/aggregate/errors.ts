import { MeshworkError } from "../proof";

/** The aggregate's input is inconsistent (bad split, duplicate device, conflicting outcomes for one proof...). */
export class AggregateInputError extends MeshworkError {}
