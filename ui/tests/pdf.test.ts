import { describe, expect, test } from 'vitest';
import { base64ToBytes, canvasSize, fitWidthScale, isPdfBytes } from '../src/lib/pdf';

describe('pdf preview helpers', () => {
  test('base64 to bytes', () => {
    expect([...base64ToBytes('JVBERi0xLjc=')]).toEqual([...'%PDF-1.7'].map((c) => c.charCodeAt(0)));
    expect([...base64ToBytes('AP8A\n/w==')]).toEqual([0, 255, 0, 255]);
    expect(base64ToBytes('')).toHaveLength(0);
  });

  test('text that is no base64 is refused, not turned into garbage', () => {
    expect(() => base64ToBytes('%PDF-1.7')).toThrow(/Base64/);
    expect(() => base64ToBytes('QUJDR')).toThrow();
  });

  test('recognises a PDF by its header', () => {
    expect(isPdfBytes(base64ToBytes('JVBERi0xLjc='))).toBe(true);
    expect(isPdfBytes(new TextEncoder().encode('<html>'))).toBe(false);
    expect(isPdfBytes(new Uint8Array())).toBe(false);
  });

  test('fit to width, within sensible limits', () => {
    // A4 is 595 pt wide.
    expect(fitWidthScale(595, 892.5)).toBeCloseTo(1.5);
    expect(fitWidthScale(595, 10)).toBe(0.25);
    expect(fitWidthScale(595, 100000)).toBe(4);
    expect(fitWidthScale(0, 800)).toBe(1);
    expect(fitWidthScale(595, Number.NaN)).toBe(1);
  });

  test('sharp canvases on HiDPI screens', () => {
    expect(canvasSize(800.6, 1131.9, 2)).toEqual({ width: 1601, height: 2263, cssWidth: 800, cssHeight: 1131 });
    expect(canvasSize(800, 1000, 0)).toEqual({ width: 800, height: 1000, cssWidth: 800, cssHeight: 1000 });
  });
});
