// File imports that embed SQL (`with { type: "text" }`) and the UI's assets
// (`with { type: "file" }`: the path of the embedded file).
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*.js" {
  const path: string;
  export default path;
}
