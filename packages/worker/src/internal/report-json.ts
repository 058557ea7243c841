/**
 * The JSON of the reports a worker sends, with each succeeded run's result
 * put in as the JSON it was made into once (`toJsonResult`), instead of
 * parsed back and serialised again with the report.
 */
import type { OutcomeReport, ReportReceipt, RunReport } from '@sje/core';
import type { ReportsMessage } from './report-coalescer.js';

/** The result JSON of outcome reports, kept beside them (it is not one of their fields until sent). */
const RESULT_JSON = new WeakMap<OutcomeReport, string>();

/** Gives `report` the result whose JSON is `json`; {@link reportsJson} puts it in as its `result`. */
export function withResultJson(report: OutcomeReport, json: string): OutcomeReport {
  RESULT_JSON.set(report, json);
  return report;
}

/** The JSON of one report: a result given by {@link withResultJson} comes last, as it was made. */
export function reportJson(report: RunReport): string {
  const json = JSON.stringify(report);
  const result = report.type === 'outcome' ? RESULT_JSON.get(report) : undefined;
  return result === undefined ? json : `${json.slice(0, -1)},"result":${result}}`;
}

/** The JSON of a message the report coalescer sends: one report, or a `reports` batch; with `receipt`, asking for one. */
export function reportsJson(message: ReportsMessage, receipt?: ReportReceipt): string {
  const asked = receipt === undefined ? '' : `"receipt":${JSON.stringify(receipt)},`;
  if (message.type !== 'reports') return asked === '' ? reportJson(message) : `{${asked}${reportJson(message).slice(1)}`;
  return `{"type":"reports",${asked}"reports":[${message.reports.map(reportJson).join(',')}]}`;
}
