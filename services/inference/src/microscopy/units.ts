/** Nanometres per unit, keyed by the canonical spelling that `canonicalLengthUnit` returns. */
const NANOMETRES: Readonly<Record<string, number>> = {
  m: 1e9,
  cm: 1e7,
  mm: 1e6,
  µm: 1e3,
  nm: 1,
  pm: 1e-3,
  Å: 0.1,
  in: 2.54e7,
};

const ALIASES: Readonly<Record<string, string>> = {
  metre: 'm',
  meter: 'm',
  metres: 'm',
  meters: 'm',
  centimetre: 'cm',
  centimeter: 'cm',
  millimetre: 'mm',
  millimeter: 'mm',
  um: 'µm',
  micron: 'µm',
  microns: 'µm',
  micrometre: 'µm',
  micrometer: 'µm',
  micrometres: 'µm',
  micrometers: 'µm',
  nanometre: 'nm',
  nanometer: 'nm',
  nanometres: 'nm',
  nanometers: 'nm',
  picometre: 'pm',
  picometer: 'pm',
  å: 'Å',
  angstrom: 'Å',
  ångström: 'Å',
  inch: 'in',
  inches: 'in',
};

/**
 * The canonical spelling of a length unit, or undefined when the text is not one. Instruments write
 * micrometres as `µm` (U+00B5), `μm` (Greek mu), `um`, `micron`, ImageJ's escaped `\u00B5m`, or UTF-8
 * read as Latin-1 (`Âµm`); all become `µm`.
 */
export function canonicalLengthUnit(unit: string): string | undefined {
  const text = unit
    .trim()
    .replace(/\\u00b5|\\u03bc/gi, '\u00b5')
    .replace(/\u00c2\u00b5|\u00ce\u00bc|\u03bc/g, '\u00b5')
    .replace(/\\u00c5|\\u212b/gi, '\u00c5')
    .replace(/\u00c3\u0085|\u212b/g, '\u00c5');
  if (text in NANOMETRES) return text;
  const lower = text.toLowerCase();
  if (lower in NANOMETRES) return lower;
  return ALIASES[lower];
}

/** `value` in `unit`, converted to nanometres; undefined when the unit is not a length. */
export function toNanometres(value: number, unit: string): number | undefined {
  const canonical = canonicalLengthUnit(unit);
  return canonical === undefined ? undefined : value * NANOMETRES[canonical];
}
