import { ErrorCode, SjeError } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { parseExecOptions } from './exec-options.js';

const commands = { echo: { program: '/bin/echo' } };

function optionError(options: Record<string, unknown>): SjeError {
  try {
    parseExecOptions(options, '/srv/sje');
  } catch (err) {
    expect(err).toBeInstanceOf(SjeError);
    expect((err as SjeError).code).toBe(ErrorCode.PLUGIN_INVALID);
    return err as SjeError;
  }
  throw new Error('expected the options to be refused');
}

describe('parseExecOptions', () => {
  it('fills in the defaults and resolves work_root against the base directory', () => {
    const o = parseExecOptions({ commands }, '/srv/sje');
    expect(o).toMatchObject({
      handler_name: 'exec',
      work_root: '/srv/sje/data/exec',
      env_allow: ['PATH', 'LANG'],
      env_allow_params: [],
      env: {},
      max_output_bytes: 1_048_576,
      kill_grace_ms: 2000,
      keep_workdir: false,
    });
    expect(o.commands.get('echo')).toEqual({ program: '/bin/echo', args: [] });
  });

  it('reads every option', () => {
    const o = parseExecOptions(
      {
        handler_name: 'sim',
        work_root: '/var/lib/sje/exec',
        commands: { simulate: { program: '/usr/bin/python3', args: ['-u', '/opt/sim/run.py'], timeout_ms: 3_600_000 } },
        env_allow: ['PATH', 'HOME'],
        env_allow_params: ['SIM_SEED'],
        env: { OMP_NUM_THREADS: '4' },
        max_output_bytes: 10,
        kill_grace_ms: 0,
        keep_workdir: true,
      },
      '/srv/sje',
    );
    expect(o.work_root).toBe('/var/lib/sje/exec');
    expect(o.commands.get('simulate')).toEqual({ program: '/usr/bin/python3', args: ['-u', '/opt/sim/run.py'], timeout_ms: 3_600_000 });
    expect(o).toMatchObject({
      handler_name: 'sim',
      env_allow: ['PATH', 'HOME'],
      env_allow_params: ['SIM_SEED'],
      env: { OMP_NUM_THREADS: '4' },
      max_output_bytes: 10,
      kill_grace_ms: 0,
      keep_workdir: true,
    });
  });

  it('requires a non-empty commands mapping', () => {
    expect(optionError({}).message).toContain("'commands'");
    expect(optionError({ commands: {} }).message).toContain("'commands'");
  });

  it('names the bad key of a command', () => {
    expect(optionError({ commands: { echo: { program: '/bin/echo', shell: true } } }).data).toMatchObject({
      option: 'commands.echo.shell',
    });
    expect(optionError({ commands: { echo: '/bin/echo' } }).data).toMatchObject({ option: 'commands.echo' });
    expect(optionError({ commands: { echo: { args: [] } } }).data).toMatchObject({ option: 'commands.echo.program' });
    expect(optionError({ commands: { echo: { program: '/bin/echo', args: '-n' } } }).data).toMatchObject({ option: 'commands.echo.args' });
    expect(optionError({ commands: { echo: { program: '/bin/echo', args: [1] } } }).data).toMatchObject({
      option: 'commands.echo.args[0]',
    });
    expect(optionError({ commands: { echo: { program: '/bin/echo', timeout_ms: 0 } } }).data).toMatchObject({
      option: 'commands.echo.timeout_ms',
    });
  });

  it('refuses command names that look like paths', () => {
    expect(optionError({ commands: { '../x': { program: '/bin/echo' } } }).message).toContain("'commands.../x'");
    expect(optionError({ commands: { '/bin/sh': { program: '/bin/sh' } } }).message).toContain('bad name');
  });

  it('refuses bad variable lists and values', () => {
    expect(optionError({ commands, env_allow: 'PATH' }).data).toMatchObject({ option: 'env_allow' });
    expect(optionError({ commands, env_allow: ['PATH', 'A=B'] }).data).toMatchObject({ option: 'env_allow[1]' });
    expect(optionError({ commands, env: { OMP_NUM_THREADS: 4 } }).data).toMatchObject({ option: 'env.OMP_NUM_THREADS' });
    expect(optionError({ commands, env: ['A'] }).data).toMatchObject({ option: 'env' });
  });

  it('refuses loader variables in env_allow_params', () => {
    expect(optionError({ commands, env_allow_params: ['LD_PRELOAD'] }).data).toMatchObject({ option: 'env_allow_params' });
    expect(optionError({ commands, env_allow_params: ['DYLD_INSERT_LIBRARIES'] }).data).toMatchObject({ option: 'env_allow_params' });
  });

  it('checks the numbers and flags', () => {
    expect(optionError({ commands, max_output_bytes: -1 }).data).toMatchObject({ option: 'max_output_bytes' });
    expect(optionError({ commands, max_output_bytes: 1.5 }).data).toMatchObject({ option: 'max_output_bytes' });
    expect(optionError({ commands, kill_grace_ms: '2000' }).data).toMatchObject({ option: 'kill_grace_ms' });
    expect(optionError({ commands, keep_workdir: 'yes' }).data).toMatchObject({ option: 'keep_workdir' });
    expect(optionError({ commands, handler_name: '' }).data).toMatchObject({ option: 'handler_name' });
    expect(optionError({ commands, work_root: 5 }).data).toMatchObject({ option: 'work_root' });
  });
});
