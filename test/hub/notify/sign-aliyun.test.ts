import { describe, expect, it } from 'vitest';
import {
  aliyunCanonicalQuery,
  aliyunPercentEncode,
  aliyunSignature,
  aliyunSignedParams,
  aliyunStringToSign,
  aliyunTimestamp,
} from '../../../hub/notify/channels/sign-aliyun.js';

/**
 * Alibaba Cloud's own worked examples of the RPC signature (HMAC-SHA1), reproduced byte for byte:
 * - the SMS document's SendSms example (Dysmsapi 2017-05-25; AccessKeySecret "testSecret"), which
 *   publishes the canonicalized query string, the StringToSign and the Signature;
 * - the general RPC signature page's ECS DescribeRegions example (AccessKeySecret "testsecret").
 */
describe('Aliyun RPC signature (published examples)', () => {
  it('reproduces the SMS document SendSms example: canonical query, StringToSign, Signature', () => {
    const params = {
      AccessKeyId: 'testId',
      Action: 'SendSms',
      Format: 'XML',
      OutId: '123',
      PhoneNumbers: '15300000001',
      RegionId: 'cn-hangzhou',
      SignName: '阿里云短信测试专用',
      SignatureMethod: 'HMAC-SHA1',
      SignatureNonce: '45e25e9b-0a6f-4070-8c85-2956eda1b466',
      SignatureVersion: '1.0',
      TemplateCode: 'SMS_71390007',
      TemplateParam: '{"customer":"test"}',
      Timestamp: '2017-07-12T02:42:19Z',
      Version: '2017-05-25',
    };
    expect(aliyunCanonicalQuery(params)).toBe(
      'AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou' +
        '&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8' +
        '&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0' +
        '&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25',
    );
    expect(aliyunStringToSign('GET', params)).toBe(
      'GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers%3D15300000001' +
        '%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1' +
        '%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1' +
        '%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007' +
        '%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z' +
        '%26Version%3D2017-05-25',
    );
    expect(aliyunSignature('GET', params, 'testSecret')).toBe('zJDF+Lrzhj/ThnlvIToysFRq6t4=');
    // The document's final URL carries it encoded once more.
    expect(aliyunPercentEncode(aliyunSignature('GET', params, 'testSecret'))).toBe('zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D');
  });

  it('reproduces the RPC signature page DescribeRegions example, whatever the parameter order', () => {
    const params = {
      Version: '2014-05-26',
      Timestamp: '2016-02-23T12:46:24Z',
      SignatureVersion: '1.0',
      SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
      SignatureMethod: 'HMAC-SHA1',
      Format: 'XML',
      Action: 'DescribeRegions',
      AccessKeyId: 'testid',
    };
    expect(aliyunStringToSign('GET', params)).toBe(
      'GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1' +
        '%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0' +
        '%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26',
    );
    expect(aliyunSignature('GET', params, 'testsecret')).toBe('OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
    // The key is the secret followed by "&": without it the published value is not reached.
    expect(aliyunSignature('GET', params, 'testsecret&')).not.toBe('OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
  });

  it('encodes what encodeURIComponent leaves alone, and a space as %20', () => {
    expect(aliyunPercentEncode("a!b'c(d)e*f g~-_.")).toBe('a%21b%27c%28d%29e%2Af%20g~-_.');
    expect(aliyunPercentEncode('${x}')).toBe('%24%7Bx%7D');
  });

  it('signs the method too, and leaves an existing Signature out of the canonical query', () => {
    const p = { A: '1', Signature: 'x' };
    expect(aliyunCanonicalQuery(p)).toBe('A=1');
    expect(aliyunSignature('POST', p, 's')).not.toBe(aliyunSignature('GET', p, 's'));
  });

  it('adds the common parameters and a Signature that verifies', () => {
    const p = aliyunSignedParams('POST', { Action: 'SendSms', Version: '2017-05-25' }, { PhoneNumbers: '13800000000' }, { accessKeyId: 'id', accessKeySecret: 'sec' }, Date.UTC(2026, 0, 2, 3, 4, 5, 678), 'n1');
    expect(p).toMatchObject({ AccessKeyId: 'id', Format: 'JSON', SignatureMethod: 'HMAC-SHA1', SignatureVersion: '1.0', SignatureNonce: 'n1', Timestamp: '2026-01-02T03:04:05Z' });
    expect(p.Signature).toBe(aliyunSignature('POST', p, 'sec'));
    expect(aliyunTimestamp(0)).toBe('1970-01-01T00:00:00Z');
  });
});
