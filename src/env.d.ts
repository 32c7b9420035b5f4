// Text imports (`with { type: "text" }`) used to embed SQL and UI assets.
declare module "*.sql" {
  const text: string;
  export default text;
}
