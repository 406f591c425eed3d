/** The ES module `file` (next to this one) through require(esm), or an error that says to use import. */
export function requireEsm(name: string, file: string): unknown {
  try {
    return require(file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
    throw new Error(`${name} is an ES module and this Node (${process.version}) cannot require() it: ` +
      `use \`import { … } from '${name}'\`, or \`const m = await import('${name}')\` from CommonJS (require of ES modules needs Node 20.19+ or 22.12+)`);
  }
}
