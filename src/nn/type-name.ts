/**
 * A module's class name for summary() and messages. Each class names itself (`static typeName`),
 * because bundlers rename classes ('Linear' becomes 'xo' after minification); a user's subclass
 * without its own typeName shows its constructor's name.
 */
export function moduleTypeName(m: object): string {
  const c = m.constructor as { typeName?: unknown; name: string };
  return Object.prototype.hasOwnProperty.call(c, 'typeName') && typeof c.typeName === 'string' ? c.typeName : c.name;
}
