// API errors are the shared HttpError family (src/http/errors.ts).
export { HttpError as ApiError, errorResponse } from "../http/errors.ts";
