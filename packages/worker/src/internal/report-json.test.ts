import type { OutcomeReport, ProgressReport } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { reportJson, reportsJson, withResultJson } from './report-json.js';

const outcome = (n: number): OutcomeReport => ({ type: 'outcome', task_id: `t${n}`, lease_id: `l${n}`, worker_id: 'w', outcome: 'succeeded', at: '2026-12-01T00:00:00.000Z' });
const progress: ProgressReport = { type: 'progress', task_id: 't9', lease_id: 'l9', progress: 50, at: '2026-12-01T00:00:00.000Z' };

describe('report JSON', () => {
  it('puts a result in as the JSON it was made into, so the report parses to the report with its result', () => {
    const result = { data: 'x"y\\n', when: '1970-01-01T00:00:00.000Z', list: [1, null, { a: true }] };
    const report = withResultJson(outcome(1), JSON.stringify(result));
    expect(JSON.parse(reportJson(report))).toEqual({ ...outcome(1), result });
    // The text is used as it is, not serialised again.
    expect(reportJson(withResultJson(outcome(2), '{ "spaced" : 1 }'))).toContain(',"result":{ "spaced" : 1 }}');
  });

  it('leaves a report without a result, and any other report, as JSON.stringify makes it', () => {
    expect(reportJson(outcome(3))).toBe(JSON.stringify(outcome(3)));
    expect(reportJson(progress)).toBe(JSON.stringify(progress));
    expect(reportJson(withResultJson(outcome(4), 'null'))).toBe(JSON.stringify({ ...outcome(4), result: null }));
  });

  it('makes a reports batch of its reports, each with its own result', () => {
    const a = withResultJson(outcome(5), '{"n":5}');
    const b = withResultJson(outcome(6), '[6]');
    const parsed = JSON.parse(reportsJson({ type: 'reports', reports: [a, progress, b] })) as unknown;
    expect(parsed).toEqual({ type: 'reports', reports: [{ ...outcome(5), result: { n: 5 } }, progress, { ...outcome(6), result: [6] }] });
    expect(JSON.parse(reportsJson(a))).toEqual({ ...outcome(5), result: { n: 5 } });
  });

  it('asks for a receipt on the message, a lone report or a batch, when given one', () => {
    const receipt = { worker_id: 'w', seq: 7 };
    const a = withResultJson(outcome(7), '{"n":7}');
    expect(JSON.parse(reportsJson(a, receipt))).toEqual({ ...outcome(7), result: { n: 7 }, receipt });
    expect(JSON.parse(reportsJson({ type: 'reports', reports: [progress] }, receipt))).toEqual({ type: 'reports', receipt, reports: [progress] });
    expect(reportsJson(progress, undefined)).toBe(JSON.stringify(progress));
  });
});
