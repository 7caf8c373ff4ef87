// `--network` of `orch service create` (and compose-like callers): `NAME` or docker's long form
// `name=NAME,alias=ALIAS[,alias=...]`. Errors name the flag and the accepted form.
import { SpecError } from '../../manager/spec';

export interface NetworkFlag {
  target: string;
  aliases: string[];
}

export function parseNetworkFlag(text: string, flag = '--network'): NetworkFlag {
  const value = text.trim();
  if (!value.includes('=')) {
    if (!value || value.includes(','))
      throw new SpecError(
        flag,
        `invalid value ${JSON.stringify(text)}: expected NAME or name=NAME,alias=ALIAS`,
      );
    return { target: value, aliases: [] };
  }
  let target = '';
  const aliases: string[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const v = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!v)
      throw new SpecError(flag, `invalid value ${JSON.stringify(text)}: ${key || 'a field'} needs a value`);
    if (key === 'name' || key === 'target') target = v;
    else if (key === 'alias') {
      if (!aliases.includes(v)) aliases.push(v);
    } else
      throw new SpecError(
        flag,
        `invalid field ${JSON.stringify(key)} in ${JSON.stringify(text)}: expected name= and alias=`,
      );
  }
  if (!target) throw new SpecError(flag, `invalid value ${JSON.stringify(text)}: name= is required`);
  return { target, aliases };
}
