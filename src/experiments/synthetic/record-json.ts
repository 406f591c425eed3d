/**
 * The opening of every recorded-data parser here (pilot-record.json, paper-findings.json): the
 * parsed JSON and a `fail` whose message names the record and its file, so a bad record says
 * which file and which field.
 */
export function parseRecordJson(text: string, record: string): { value: unknown; fail: (what: string) => never } {
  const fail = (what: string): never => { throw new Error(`${record}: ${what}`); };
  try {
    return { value: JSON.parse(text), fail };
  } catch (e) {
    return fail(`not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}
