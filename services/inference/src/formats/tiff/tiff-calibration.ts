import { type Calibration, type ImageArea, lengthCalibration } from '../../microscopy/calibration.ts';
import { toNanometres } from '../../microscopy/units.ts';
import { TAG, type TiffIfd, tagNumber, tagText } from './tiff.ts';

/** What a TIFF page says about its pixel size and data bar. */
export interface TiffCalibrationInfo {
  /** In FILE_SOURCE_ORDER; `resolveCalibration` picks the first usable one. */
  candidates: Calibration[];
  imageArea?: ImageArea;
  /** Metadata that was present but could not be used (unknown unit, unparsable number). */
  warnings: string[];
}

/** Every calibration a TIFF page carries, plus the FEI image-area height. Pure: reads tags only. */
export function tiffCalibration(ifd: TiffIfd, size: { width: number; height: number }): TiffCalibrationInfo {
  const out: TiffCalibrationInfo = { candidates: [], warnings: [] };
  const fei = feiCalibration(ifd, size.height, out.warnings);
  if (fei.calibration) out.candidates.push(fei.calibration);
  if (fei.imageArea) out.imageArea = fei.imageArea;
  const description = tagText(ifd, TAG.ImageDescription) ?? '';
  for (const candidate of [
    zeissCalibration(ifd, size, out.warnings),
    omeCalibration(description, out.warnings),
    imagejCalibration(description, ifd, out.warnings),
    tiffResolutionCalibration(ifd),
  ]) {
    if (candidate) out.candidates.push(candidate);
  }
  return out;
}

/** Parses INI text (FEI/Thermo metadata) into sections of key → value. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current = new Map<string, string>();
  sections.set('', current);
  for (const line of text.split(/\r?\n|\r/)) {
    const header = /^\s*\[([^\]]*)\]\s*$/.exec(line);
    if (header) {
      current = sections.get(header[1]) ?? new Map();
      sections.set(header[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return sections;
}

/** A number from metadata text; NaN for empty or non-numeric text so validation reports it. */
function parseNumber(text: string | undefined): number {
  return text === undefined || text.trim() === '' ? Number.NaN : Number(text.trim());
}

/**
 * FEI/Thermo Fisher SEMs (tag 34682, older ones 34680) write INI text: `[Scan] PixelWidth` in metres,
 * and `[Image] ResolutionY`, the rows above the data bar the instrument appends to the image.
 * Ion-beam images without `[Scan]` give the field width instead (`[IRBeam] HFW`).
 */
export function feiCalibration(
  ifd: TiffIfd,
  imageHeight: number,
  warnings: string[],
): { calibration?: Calibration; imageArea?: ImageArea } {
  for (const tag of [TAG.FeiHelios, TAG.FeiSfeg]) {
    const text = tagText(ifd, tag);
    if (!text?.includes('[')) continue;
    const ini = parseIni(text);
    const result: { calibration?: Calibration; imageArea?: ImageArea } = {};
    const scan = ini.get('Scan');
    const image = ini.get('Image');
    const ion = ini.get('IRBeam');
    const pixelWidth = scan?.get('PixelWidth');
    if (pixelWidth !== undefined) {
      const pixelHeight = scan?.get('PixelHeight') ?? pixelWidth;
      result.calibration = lengthCalibration({
        source: 'fei-tiff',
        width: parseNumber(pixelWidth),
        height: parseNumber(pixelHeight),
        unit: 'm',
        detail: `[Scan] PixelWidth=${pixelWidth} m in tag ${tag}`,
      });
    } else if (ion?.get('HFW') !== undefined && image?.get('ResolutionX') !== undefined) {
      const hfw = ion.get('HFW');
      const columns = image.get('ResolutionX');
      const pixel = parseNumber(hfw) / parseNumber(columns);
      result.calibration = lengthCalibration({
        source: 'fei-tiff',
        width: pixel,
        height: pixel,
        unit: 'm',
        detail: `[IRBeam] HFW=${hfw} m / [Image] ResolutionX=${columns} in tag ${tag}`,
      });
    }
    const rows = image?.get('ResolutionY');
    if (rows !== undefined) {
      const height = parseNumber(rows);
      if (Number.isInteger(height) && height > 0 && height <= imageHeight) {
        result.imageArea = { height, source: `[Image] ResolutionY=${rows} in tag ${tag}` };
      } else {
        warnings.push(
          `FEI [Image] ResolutionY=${rows} in tag ${tag} does not fit the ${imageHeight}-row image`,
        );
      }
    }
    return result;
  }
  return {};
}

/**
 * Zeiss SmartSEM's CZ_SEM tag: a binary header, then pairs of lines, a key (`AP_PIXEL_SIZE`) and a
 * label with its value (`Pixel Size = 5.825 nm`). Returns key → value text.
 */
export function parseZeissSem(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  const lines = text.split(/\r?\n|\r/);
  for (let i = 0; i + 1 < lines.length; i++) {
    const key = lines[i].replace(/\0/g, '').trim();
    if (!/^[A-Z]{2}_[A-Z0-9_]+$/.test(key)) continue;
    const labelled = /^[^=:]*[=:](.*)$/.exec(lines[i + 1]);
    if (labelled && !entries.has(key)) entries.set(key, labelled[1].trim());
  }
  return entries;
}

function valueWithUnit(text: string | undefined): { value: number; unit: string } | undefined {
  const match = text === undefined ? null : /^([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(\S+)/.exec(text);
  return match ? { value: Number(match[1]), unit: match[2] } : undefined;
}

/**
 * Zeiss pixel size: `AP_PIXEL_SIZE` (`Pixel Size = 5.825 nm`) as SmartSEM states it, the source the
 * project's calibration order names. SmartSEM computes it for its scan frame; an image stored at a
 * lower resolution than it was scanned has larger pixels (RosettaSciIO scales by 1024/width). When the
 * field width `AP_WIDTH` divided by the stored width disagrees with `Pixel Size`, the result carries a
 * warning giving both, so the microscopist can check the store resolution. Without `Pixel Size`, the
 * field width over the stored width is used. The data bar is drawn over the image inside the same
 * field, so the tag gives no image-area height (use `cropBottom` in scopehive.json for that).
 */
export function zeissCalibration(
  ifd: TiffIfd,
  size: { width: number },
  warnings: string[],
): Calibration | undefined {
  const text = tagText(ifd, TAG.ZeissSem);
  if (text === undefined) return undefined;
  const entries = parseZeissSem(text);
  const fieldText = entries.get('AP_WIDTH');
  const pixelText = entries.get('AP_PIXEL_SIZE');
  const field = valueWithUnit(fieldText);
  const pixel = valueWithUnit(pixelText);
  const fromField = field && toNanometres(field.value, field.unit);
  const fromPixel = pixel && toNanometres(pixel.value, pixel.unit);
  if (fromField !== undefined && fromPixel !== undefined) {
    const perStoredPixel = fromField / size.width;
    if (Math.abs(perStoredPixel - fromPixel) > 0.02 * Math.max(perStoredPixel, fromPixel)) {
      warnings.push(
        `Zeiss Pixel Size = ${pixelText}, but Width = ${fieldText} over the ${size.width} stored pixels gives ` +
          `${perStoredPixel.toPrecision(5)} nm: the image may have been stored at a lower resolution than it was scanned`,
      );
    }
  }
  if (pixel && fromPixel !== undefined) {
    return {
      pixelWidth: fromPixel,
      pixelHeight: fromPixel,
      unit: 'nm',
      source: 'zeiss-tiff',
      originalUnit: pixel.unit,
      detail: `AP_PIXEL_SIZE Pixel Size = ${pixelText} in tag ${TAG.ZeissSem}`,
    };
  }
  if (field && fromField !== undefined) {
    const nm = fromField / size.width;
    return {
      pixelWidth: nm,
      pixelHeight: nm,
      unit: 'nm',
      source: 'zeiss-tiff',
      originalUnit: field.unit,
      detail: `AP_WIDTH Width = ${fieldText} over ${size.width} px in tag ${TAG.ZeissSem}`,
    };
  }
  if (fieldText !== undefined || pixelText !== undefined) {
    warnings.push(`Zeiss tag ${TAG.ZeissSem}: no usable Width or Pixel Size (${fieldText ?? pixelText})`);
  }
  return undefined;
}

function xmlAttribute(attributes: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(attributes);
  if (!match) return undefined;
  return (match[1] ?? match[2])
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#([0-9]+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&amp;/g, '&');
}

/**
 * OME-TIFF: `PhysicalSizeX/Y` on the first `Pixels` element (the image of IFD 0 in the files
 * instruments write), in `PhysicalSizeXUnit`, which the OME schema defaults to µm.
 */
export function omeCalibration(description: string, warnings: string[]): Calibration | undefined {
  if (!/<(?:\w+:)?OME[\s>]/.test(description)) return undefined;
  const pixels = /<(?:\w+:)?Pixels\b([^>]*)>/.exec(description);
  if (!pixels) return undefined;
  const x = xmlAttribute(pixels[1], 'PhysicalSizeX');
  if (x === undefined) return undefined;
  const y = xmlAttribute(pixels[1], 'PhysicalSizeY') ?? x;
  const unit = xmlAttribute(pixels[1], 'PhysicalSizeXUnit') ?? 'µm';
  const heightUnit = xmlAttribute(pixels[1], 'PhysicalSizeYUnit') ?? unit;
  const calibration = lengthCalibration({
    source: 'ome-xml',
    width: parseNumber(x),
    height: parseNumber(y),
    unit,
    heightUnit,
    detail: `OME-XML PhysicalSizeX=${x} ${unit}`,
  });
  if (!calibration) warnings.push(`OME-XML PhysicalSizeXUnit="${unit}" is not a length unit`);
  return calibration;
}

/**
 * ImageJ writes `ImageJ=…` and `unit=…` lines into ImageDescription and the pixels per unit into
 * XResolution/YResolution (ResolutionUnit stays "none"). The unit is often `micron` or the escaped
 * `\u00B5m`. `pixel` as unit means uncalibrated.
 */
export function imagejCalibration(
  description: string,
  ifd: TiffIfd,
  warnings: string[],
): Calibration | undefined {
  if (!/^ImageJ=/m.test(description)) return undefined;
  const settings = parseIni(description).get('') ?? new Map<string, string>();
  const unit = settings.get('unit');
  if (unit === undefined || /^(pixels?|px)$/i.test(unit)) return undefined;
  const xResolution = tagNumber(ifd, TAG.XResolution);
  if (xResolution === undefined) return undefined;
  const yResolution = tagNumber(ifd, TAG.YResolution) ?? xResolution;
  const calibration = lengthCalibration({
    source: 'imagej',
    width: 1 / xResolution,
    height: 1 / yResolution,
    unit,
    heightUnit: settings.get('yunit') ?? unit,
    detail: `ImageJ unit=${unit}, XResolution=${Number(xResolution.toPrecision(7))} px per ${unit}`,
  });
  if (!calibration) warnings.push(`ImageJ unit=${unit} is not a length unit`);
  return calibration;
}

/**
 * 1200 dpi (21 µm per pixel) or coarser is a screen or print setting (72, 96 and 300 dpi are what
 * software writes by default; FEI writes 96 or 64), never an instrument calibration.
 */
const MAX_PRINT_DPI = 1200;

/** Plain XResolution/YResolution with ResolutionUnit inch (2, the TIFF default) or centimetre (3). */
export function tiffResolutionCalibration(ifd: TiffIfd): Calibration | undefined {
  const resolutionUnit = tagNumber(ifd, TAG.ResolutionUnit) ?? 2;
  if (resolutionUnit !== 2 && resolutionUnit !== 3) return undefined;
  const xResolution = tagNumber(ifd, TAG.XResolution);
  if (xResolution === undefined) return undefined;
  const yResolution = tagNumber(ifd, TAG.YResolution) ?? xResolution;
  const unit = resolutionUnit === 2 ? 'in' : 'cm';
  const dpi = resolutionUnit === 2 ? xResolution : xResolution * 2.54;
  if (dpi <= MAX_PRINT_DPI) return undefined;
  return lengthCalibration({
    source: 'tiff-resolution',
    width: 1 / xResolution,
    height: 1 / yResolution,
    unit,
    detail: `XResolution=${Number(xResolution.toPrecision(7))} px per ${unit === 'in' ? 'inch' : 'cm'} (ResolutionUnit ${resolutionUnit})`,
  });
}
