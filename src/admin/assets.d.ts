/**
 * @module admin/assets
 * The dashboard's CSS and SVG files are imported as text (`with { type: "text" }`):
 * their contents, embedded in the binary.
 */
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*.svg" {
  const text: string;
  export default text;
}
