// The pure part of the PDF preview: the bytes from the shell and the size of each page.
// Rendering itself (pdf.js, loaded only when a preview opens) is in `pdfRender.ts`.

/** `SavedDocument.pdf_base64` → the PDF's bytes. Throws on text that is no base64. */
export function base64ToBytes(b64: string): Uint8Array {
  const clean = b64.replace(/\s+/g, '');
  if (clean.length % 4 === 1 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new Error('keine gültigen Base64-Daten');
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Does this look like a PDF (`%PDF-` at the start)? */
export function isPdfBytes(bytes: Uint8Array): boolean {
  return bytes.length > 5 && String.fromCharCode(...bytes.subarray(0, 5)) === '%PDF-';
}

/** The zoom that makes a page `pageWidth` (PDF points) fill `available` CSS pixels, within 0.25–4. */
export function fitWidthScale(pageWidth: number, available: number): number {
  if (!(pageWidth > 0) || !(available > 0)) return 1;
  return Math.min(4, Math.max(0.25, available / pageWidth));
}

export interface CanvasSize {
  /** The canvas's pixels (sharp on HiDPI screens). */
  width: number;
  height: number;
  /** Its size on the page, in CSS pixels. */
  cssWidth: number;
  cssHeight: number;
}

/** A page of `width`×`height` CSS pixels on a screen with `ratio` device pixels per CSS pixel. */
export function canvasSize(width: number, height: number, ratio: number): CanvasSize {
  const r = ratio > 0 && Number.isFinite(ratio) ? ratio : 1;
  return { width: Math.floor(width * r), height: Math.floor(height * r), cssWidth: Math.floor(width), cssHeight: Math.floor(height) };
}
