// `orch service create --network`: the short and the long form, and errors naming the flag.
import { parseNetworkFlag } from '../../../src/cli/network/network-flag';

describe('--network', () => {
  it('takes a bare name or docker long form with aliases', () => {
    expect(parseNetworkFlag(' appnet ')).toEqual({ target: 'appnet', aliases: [] });
    expect(parseNetworkFlag('name=appnet,alias=www,alias=api,alias=www')).toEqual({
      target: 'appnet',
      aliases: ['www', 'api'],
    });
  });

  it('refuses what it does not understand, naming the flag', () => {
    expect(() => parseNetworkFlag('alias=www')).toThrow(
      '--network: invalid value "alias=www": name= is required',
    );
    expect(() => parseNetworkFlag('name=appnet,driver-opt=x=y')).toThrow(
      '--network: invalid field "driver-opt" in "name=appnet,driver-opt=x=y": expected name= and alias=',
    );
    expect(() => parseNetworkFlag('name=appnet,alias=')).toThrow('alias needs a value');
    expect(() => parseNetworkFlag('a,b')).toThrow('--network: invalid value "a,b"');
  });
});
