import { type StructureReader, Truncated } from './source.ts';

/**
 * A JPEG is complete when its marker stream walks from SOI through a frame and at least one scan to
 * an EOI that is the file's last two bytes. Segments are skipped by their lengths, so the EOI of a
 * thumbnail inside APP1 (EXIF) is never taken for the end, and entropy-coded data is scanned for the
 * next real marker (stuffed 0xFF00 and restart markers belong to the scan). Bytes after the EOI (some
 * cameras append data) make it unprovable: it then waits for the stability window.
 */
export async function jpegComplete(r: StructureReader): Promise<boolean> {
  if ((await r.u16(0, false)) !== 0xffd8) return false;
  let pos = 2;
  let frame = false;
  let scan = false;
  for (;;) {
    if ((await r.u8(pos)) !== 0xff) return false;
    // Any number of 0xFF fill bytes may precede a marker.
    while ((await r.u8(pos + 1)) === 0xff) pos++;
    const marker = await r.u8(pos + 1);
    pos += 2;
    if (marker === 0xd9) return frame && scan && pos === r.size;
    if (marker === 0xd8 || marker === 0x00) return false;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    const length = await r.u16(pos, false);
    if (length < 2) return false;
    const end = pos + length;
    if (end > r.size) throw new Truncated(`segment ends after the file`);
    if (isFrame(marker)) frame = true;
    if (marker === 0xda) {
      if (!frame) return false;
      scan = true;
      pos = await nextMarker(r, end);
    } else {
      pos = end;
    }
  }
}

/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
function isFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Where the entropy-coded data after a scan header ends: the first 0xFF that starts a real marker. */
async function nextMarker(r: StructureReader, from: number): Promise<number> {
  let pos = from;
  for (;;) {
    const block = await r.from(pos);
    const ff = block.indexOf(0xff);
    if (ff < 0) {
      pos += block.length;
      continue;
    }
    pos += ff;
    const next = await r.u8(pos + 1);
    // Stuffed zero and restart markers are part of the scan; a run of 0xFF is fill before a marker.
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) pos += 2;
    else if (next === 0xff) pos += 1;
    else return pos;
  }
}
