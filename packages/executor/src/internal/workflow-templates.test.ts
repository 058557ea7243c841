import { describe, expect, it } from 'vitest';
import { ConfigError, ErrorCode, SjeError, taskInputSchema } from '@sje/core';
import { exampleValue, schemaAt } from './schema-example.js';
import { compileTemplate, instantiateTemplate, TemplateCatalog } from './workflow-templates.js';

const etl = {
  description: 'daily numbers',
  params: { date: '2024-01-01', values: [1, 2, 3] },
  tasks: [
    { task_id: 'extract', function: 'echo', params: { date: '${params.date}', rows: '${params.values}' } },
    {
      task_id: 'summarise',
      function: 'calculate_data',
      depends_on: ['extract'],
      params: { input_data: '${params.values}' },
      priority: '${params.priority}',
    },
    {
      task_id: 'report',
      function: 'echo',
      depends_on: ['summarise'],
      params: { title: 'report for ${params.date}' },
      labels: { date: '${params.date}' },
    },
  ],
};

function configError(raw: unknown, name = 't'): ConfigError {
  try {
    compileTemplate(name, raw);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function sjeError(fn: () => unknown): SjeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SjeError) return err;
    throw err;
  }
  throw new Error('expected an SjeError');
}

describe('compileTemplate', () => {
  it('accepts a valid template, collecting its parameters', () => {
    const t = compileTemplate('daily_etl', etl);
    expect(t.name).toBe('daily_etl');
    expect(t.description).toBe('daily numbers');
    expect([...t.parameters].sort()).toEqual(['date', 'priority', 'values']);
  });

  it.each([
    [{ tasks: [] }, 'non-empty list'],
    [{ tasks: [{ function: 'f' }], steps: [] }, "unknown key 'steps'"],
    [{ tasks: [{ function: 'f' }], params: [1] }, 'params must be a mapping'],
    [{ tasks: [{ function: 'f' }], description: 3 }, 'description must be a string'],
    [{ tasks: ['f'] }, 'tasks[0] must be a mapping'],
    [{ tasks: [{ function: 'f', priority: 12 }] }, "tasks[0]: field 'priority'"],
    [{ tasks: [{ function: 'f', colour: 'red' }] }, "unknown field 'colour'"],
    [
      {
        tasks: [
          { task_id: 'a', function: 'f' },
          { task_id: 'a', function: 'g' },
        ],
      },
      "duplicate task_id 'a'",
    ],
    [{ tasks: [{ task_id: 'a', function: 'f', depends_on: ['nope'] }] }, "names 'nope', which is not a task of this template"],
    [
      {
        tasks: [
          { task_id: 'a', function: 'f', depends_on: ['b'] },
          { task_id: 'b', function: 'f', depends_on: ['a'] },
        ],
      },
      'dependency cycle a -> b -> a',
    ],
    [{ tasks: [{ task_id: 'a-${params.x}', function: 'f' }] }, 'a local task id cannot hold a placeholder'],
    [
      {
        tasks: [
          { task_id: 'a', function: 'f' },
          { function: 'f', depends_on: ['${params.dep}'] },
        ],
      },
      'a local task id cannot hold a placeholder',
    ],
    [{ tasks: [{ task_id: 'x'.repeat(170), function: 'f' }] }, 'longer than 163 characters'],
    [{ params: { p: 'high' }, tasks: [{ function: 'f', priority: '${params.p}' }] }, "field 'priority'"],
  ])('refuses %j naming the template and the problem', (raw, problem) => {
    const err = configError(raw, 'broken');
    expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(err.message).toContain('workflows.broken');
    expect(err.message).toContain(problem);
  });

  it('checks placeholders without defaults with a value of the type the schema expects there', () => {
    expect(() =>
      compileTemplate('typed', {
        tasks: [
          {
            function: '${params.fn}',
            priority: '${params.p}',
            timeout_ms: '${params.t}',
            retry: { max_attempts: '${params.n}', backoff: '${params.b}' },
            scan: { x: '${params.xs}' },
            params: '${params.all}',
            labels: { a: '${params.l}' },
          },
        ],
      }),
    ).not.toThrow();
    expect(() => compileTemplate('whole-scan', { tasks: [{ function: 'f', scan: '${params.scan}' }] })).not.toThrow();
  });

  it('refuses a bad template name', () => {
    expect(configError({ tasks: [{ function: 'f' }] }, 'has space').message).toContain('name');
  });
});

describe('schema examples', () => {
  it('fits each position of the task schema', () => {
    expect(exampleValue(schemaAt(taskInputSchema, ['priority']))).toBe(0);
    expect(exampleValue(schemaAt(taskInputSchema, ['timeout_ms']))).toBe(1);
    expect(exampleValue(schemaAt(taskInputSchema, ['retry', 'backoff']))).toBe('fixed');
    expect(exampleValue(schemaAt(taskInputSchema, ['scan', 'k']))).toEqual(['x']);
    expect(exampleValue(schemaAt(taskInputSchema, ['scan']))).toEqual({ x: ['x'] });
    expect(exampleValue(schemaAt(taskInputSchema, ['params', 'anything', 0]))).toBe('x');
    expect(exampleValue(schemaAt(taskInputSchema, ['labels', 'k']))).toBe('x');
  });
});

describe('instantiateTemplate', () => {
  const template = compileTemplate('daily_etl', etl);

  it('substitutes params over defaults, keeps value types, and prefixes local ids with the workflow id', () => {
    const inputs = instantiateTemplate(template, { date: '2024-05-01', priority: 7 }, 'wf1');
    expect(inputs.map((i) => i.input)).toEqual([
      { task_id: 'wf1.extract', function: 'echo', params: { date: '2024-05-01', rows: [1, 2, 3] } },
      { task_id: 'wf1.summarise', function: 'calculate_data', depends_on: ['wf1.extract'], params: { input_data: [1, 2, 3] }, priority: 7 },
      {
        task_id: 'wf1.report',
        function: 'echo',
        depends_on: ['wf1.summarise'],
        params: { title: 'report for 2024-05-01' },
        labels: { date: '2024-05-01' },
      },
    ]);
    expect(inputs.map((i) => i.field)).toEqual(['tasks[0]', 'tasks[1]', 'tasks[2]']);
    // Instances are independent.
    expect(instantiateTemplate(template, { priority: 1 }, 'wf2')[0]!.input.task_id).toBe('wf2.extract');
  });

  it('names a placeholder with no value', () => {
    const err = sjeError(() => instantiateTemplate(template, {}, 'wf'));
    expect(err.code).toBe(ErrorCode.VALIDATION);
    expect(err.data?.['field']).toBe('params.priority');
    expect(err.message).toContain('params.priority');
  });

  it('refuses a parameter the template does not know', () => {
    const err = sjeError(() => instantiateTemplate(template, { priority: 1, dat: 'typo' }, 'wf'));
    expect(err.data?.['field']).toBe('params.dat');
  });

  it('refuses a value that makes a task invalid, naming the task field', () => {
    const err = sjeError(() => instantiateTemplate(template, { priority: 'high' }, 'wf'));
    expect(err.code).toBe(ErrorCode.VALIDATION);
    expect(err.data?.['field']).toBe('tasks[1].priority');
  });
});

describe('TemplateCatalog', () => {
  it('checks every template of the configuration', () => {
    const catalog = TemplateCatalog.fromConfig({ daily_etl: etl, one: { tasks: [{ function: 'echo' }] } });
    expect(catalog.names).toEqual(['daily_etl', 'one']);
    expect(catalog.get('one')?.tasks).toHaveLength(1);
    expect(catalog.get('__proto__')).toBeUndefined();
    expect(() => TemplateCatalog.fromConfig({ ok: etl, bad: { tasks: [{ function: 'f', depends_on: ['x'] }] } })).toThrow(/workflows\.bad/);
  });
});
