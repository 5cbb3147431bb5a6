// Server-side SQL that fills the Multiboard-like schema (test/fixtures/multiboard/schema.sql).
// Every row is made by INSERT … SELECT generate_series: no row ever passes through JavaScript.
// Values deliberately include what breaks naive dumpers: NULLs, tabs, newlines, backslashes, quotes,
// unicode, NULL array elements, empty arrays, Infinity/NaN floats, JSON nulls and bytea.

/** Measured on PostgreSQL 15 (heap + indexes + TOAST of one component with its parts and part attributes). */
export const BYTES_PER_COMPONENT = 6100;
/** Mean stored size of a component_files row (content 2 KB – 100 KB, skewed towards small). */
export const BYTES_PER_FILE = 36_800;
export const PARTS_PER_COMPONENT = 8;
export const CATEGORIES = 200;
export const ATTRIBUTES = 60;

/** How many rows make a database of about `bytes` (pg_database_size), files taking about a quarter. */
export interface DataPlan {
  components: number;
  parts: number;
  files: number;
}

/** An empty database already weighs about 7.5 MB. */
const EMPTY_DATABASE_BYTES = 7.5 * 1024 * 1024;

export function planData(bytes: number): DataPlan {
  const budget = Math.max(bytes - EMPTY_DATABASE_BYTES, 1024 * 1024);
  const components = Math.max(100, Math.round((budget * 0.75) / BYTES_PER_COMPONENT));
  return {
    components,
    parts: components * PARTS_PER_COMPONENT,
    files: Math.max(10, Math.round((budget * 0.25) / BYTES_PER_FILE)),
  };
}

export function categoriesSql(): string {
  return String.raw`
    INSERT INTO public.categories (id, parent_id, slug, name) OVERRIDING SYSTEM VALUE
    SELECT i, CASE WHEN i <= 20 THEN NULL ELSE 1 + i % 20 END, 'category-' || i,
      CASE WHEN i % 10 = 0 THEN 'Catégorie ' || i || ' — ünïcode' ELSE 'Category ' || i END
    FROM generate_series(1, ${CATEGORIES}) i`;
}

export function attributesSql(): string {
  // data_type follows id % 3 (0 text, 1 number, 2 boolean); partAttributesSql relies on it
  return String.raw`
    INSERT INTO public.attributes (id, slug, name, data_type, unit)
    SELECT i, 'attribute-' || i, 'Attribute ' || i, (ARRAY['text', 'number', 'boolean'])[1 + i % 3],
      CASE WHEN i % 3 = 1 THEN (ARRAY['mm', 'g', 'min', '°C'])[1 + i % 4] END
    FROM generate_series(1, ${ATTRIBUTES}) i`;
}

export function componentsSql(from: number, to: number): string {
  return String.raw`
    INSERT INTO public.components (id, slug, name, description, category_id, tags, metadata, price, is_published, created_at, updated_at)
    SELECT c,
      'component-' || c,
      (ARRAY['Snap', 'Bolt', 'Peg', 'Hook', 'Bin', 'Shelf', 'Clip', 'Mount', 'Rail', 'Tray'])[1 + c % 10] || ' '
        || (ARRAY['small', 'large', 'double', 'offset', 'angled', 'stacked', 'mini', 'wide'])[1 + (c / 10) % 8] || ' ' || c,
      CASE WHEN c % 11 = 0 THEN NULL
        WHEN c % 53 = 0 THEN E'Line one\nLine two\twith a tab, a backslash \\ and a quote \' — Größe ½" 日本語 ✓ 🚀'
        ELSE repeat('Multiboard compatible part for wall storage, printed without supports. ', 1 + c % 5) || md5(c::text) END,
      CASE WHEN c % 17 = 0 THEN NULL ELSE 1 + c % ${CATEGORIES} END,
      CASE WHEN c % 29 = 0 THEN '{}'::text[]
        WHEN c % 97 = 0 THEN ARRAY['multiboard', NULL]
        ELSE ARRAY['multiboard', 'tile-' || (c % 40),
          (ARRAY['has space', 'quote"d', 'comma,tag', 'back\slash', '{braces}', 'ünïcode', 'plain'])[1 + c % 7]] END,
      jsonb_build_object(
        'version', c % 7,
        'color', (ARRAY['black', 'white', 'red', 'blue', 'orange'])[1 + c % 5],
        'license', (ARRAY['CC-BY-4.0', 'CC-BY-NC-4.0', 'MIT'])[1 + c % 3],
        'dimensions', jsonb_build_object('w', round((random() * 300)::numeric, 1), 'h', round((random() * 300)::numeric, 1),
          'd', round((random() * 50)::numeric, 1)),
        'supports', c % 3 = 0,
        'layers', jsonb_build_array(0.12, 0.2, 0.28),
        'rating', CASE WHEN c % 5 = 0 THEN NULL ELSE random() * 5 END,
        'note', CASE WHEN c % 41 = 0 THEN E'quote " tab \t newline \n backslash \\ unicode é ✓' END),
      CASE WHEN c % 9 = 0 THEN NULL ELSE round((random() * 200)::numeric, 2) END,
      c % 10 <> 0,
      timestamptz '2020-01-01 00:00:00+00' + c * interval '7 minutes' + random() * interval '1 hour',
      timestamptz '2020-01-01 00:00:00+00' + c * interval '7 minutes' + random() * interval '400 days'
    FROM generate_series(${from}, ${to}) c`;
}

export function partsSql(from: number, to: number, components: number): string {
  return String.raw`
    INSERT INTO public.parts (id, component_id, sku, name, material, width_mm, height_mm, depth_mm, weight_g, print_minutes, downloads, created_at)
    SELECT p,
      1 + floor(random() * ${components})::bigint,
      'MB-' || lpad(p::text, 9, '0'),
      (ARRAY['Tile', 'Peg', 'Clip', 'Bolt', 'Insert', 'Cap'])[1 + p % 6] || ' #' || p,
      (ARRAY['PLA', 'PETG', 'ABS', 'ASA', 'TPU', NULL])[1 + p % 6],
      round((random() * 250)::numeric, 2),
      round((random() * 250)::numeric, 2),
      CASE WHEN p % 13 = 0 THEN NULL ELSE round((random() * 80)::numeric, 2) END,
      CASE WHEN p % 4999 = 0 THEN 'Infinity'::float8 WHEN p % 10007 = 0 THEN 'NaN'::float8
        WHEN p % 7 = 0 THEN NULL ELSE random() * 500 END,
      CASE WHEN p % 5 = 0 THEN NULL ELSE (random() * 600)::int END,
      floor(power(random(), 4) * 10000000)::bigint,
      timestamptz '2020-01-01 00:00:00+00' + p * interval '50 seconds' + random() * interval '1 hour'
    FROM generate_series(${from}, ${to}) p`;
}

/** 3 to 7 attributes per part; (p*7 + j*13) % 60 gives distinct attributes for j = 1..7 (13 is invertible mod 60). */
export function partAttributesSql(fromPart: number, toPart: number): string {
  return String.raw`
    INSERT INTO public.part_attributes (part_id, attribute_id, value)
    SELECT p, a,
      CASE a % 3
        WHEN 0 THEN (ARRAY['matte black', 'glossy white', 'translucent', 'wood fill', 'carbon fibre'])[1 + (p + j) % 5]
        WHEN 1 THEN round((random() * 1000)::numeric, 2)::text
        ELSE CASE WHEN random() < 0.5 THEN 'true' ELSE 'false' END END
    FROM generate_series(${fromPart}, ${toPart}) p
    CROSS JOIN LATERAL generate_series(1, 3 + (p % 5)::int) j
    CROSS JOIN LATERAL (SELECT ((p * 7 + j * 13) % ${ATTRIBUTES} + 1)::bigint AS a) x`;
}

/**
 * Files of 2 KB – 100 KB cut from 64 pseudo-random 105 KB blobs (sha256 chains, incompressible like real
 * 3MF/PNG files, so TOAST stores them at full size), each with a unique header line.
 */
export function componentFilesSql(from: number, to: number, components: number): string {
  return String.raw`
    WITH pool AS MATERIALIZED (
      SELECT k, (SELECT string_agg(sha256(int4send(k * 4000 + j)), ''::bytea ORDER BY j) FROM generate_series(1, 3300) j) AS blob
      FROM generate_series(0, 63) k
    ), files AS (
      SELECT f, 1 + floor(random() * ${components})::bigint AS component_id,
        2048 + floor(power(random(), 2) * 100000)::int AS len,
        (ARRAY['stl', '3mf', 'step', 'png'])[1 + f % 4] AS ext
      FROM generate_series(${from}, ${to}) f
    ), contents AS (
      SELECT files.*, convert_to('solid mbsync-bench ' || f || E'\n', 'UTF8') || substring(pool.blob FROM 1 + (f * 7919) % 2048 FOR len) AS content
      FROM files JOIN pool ON pool.k = files.f % 64
    )
    INSERT INTO public.component_files (id, component_id, filename, mime_type, content, sha256)
    SELECT f, component_id,
      CASE WHEN f % 23 = 0 THEN 'Teil ' || f || ' größe.' || ext ELSE 'part-' || f || '.' || ext END,
      CASE ext WHEN 'stl' THEN 'model/stl' WHEN '3mf' THEN 'model/3mf' WHEN 'step' THEN 'model/step' ELSE 'image/png' END,
      content, encode(sha256(content), 'hex')
    FROM contents`;
}
