// Draws a PDF into canvases with pdf.js. Imported on demand (the first preview), so the
// app starts without loading pdf.js. The worker is bundled by Vite (`?worker`), so the
// preview works offline from `ui/dist` and under the window's CSP (`script-src 'self'`).

import { GlobalWorkerOptions, getDocument, type PDFDocumentProxy } from 'pdfjs-dist';
import PdfWorker from 'pdfjs-dist/build/pdf.worker.min.mjs?worker';
import { canvasSize, fitWidthScale } from './pdf';

let worker: Worker | null = null;

/** One worker for the app's lifetime; pdf.js keeps it when a document is closed. */
function ensureWorker(): void {
  if (!worker) {
    worker = new PdfWorker();
    GlobalWorkerOptions.workerPort = worker;
  }
}

export interface OpenPdf {
  pages: number;
  /** Draws page `n` (1-based) to fit `available` CSS pixels of width. */
  render(n: number, canvas: HTMLCanvasElement, available: number): Promise<void>;
  close(): Promise<void>;
}

export async function openPdf(bytes: Uint8Array): Promise<OpenPdf> {
  ensureWorker();
  const doc: PDFDocumentProxy = await getDocument({
    // pdf.js takes ownership of the buffer; keep the caller's copy intact.
    data: bytes.slice(),
    isEvalSupported: false,
    // No WebAssembly (the CSP has no 'wasm-unsafe-eval'); our PDFs embed their fonts.
    useWasm: false,
    enableXfa: false,
    stopAtErrors: false,
  }).promise;
  return {
    pages: doc.numPages,
    async render(n, canvas, available) {
      const page = await doc.getPage(n);
      const scale = fitWidthScale(page.getViewport({ scale: 1 }).width, available);
      const viewport = page.getViewport({ scale });
      const size = canvasSize(viewport.width, viewport.height, window.devicePixelRatio || 1);
      canvas.width = size.width;
      canvas.height = size.height;
      canvas.style.width = `${size.cssWidth}px`;
      canvas.style.height = `${size.cssHeight}px`;
      const ratio = size.width / viewport.width;
      await page.render({ canvas, viewport, transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : undefined }).promise;
      page.cleanup();
    },
    close: () => doc.destroy(),
  };
}
