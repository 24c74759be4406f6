/**
 * @module admin/dashboard-page
 * Type of `dashboard-page.js` (the dashboard's browser script) when dashboard.ts
 * imports it as text: its source, embedded in the binary.
 */
declare const source: string;
export default source;
