/** The layering of src/ is a lint rule (eslint.config.js): a wrong import fails `npm run lint`. */
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: ROOT });

async function importProblems(file: string, specifier: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from '${specifier}';\nexport const y = x;\n`, { filePath: path.join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

describe('layers', () => {
  it.each([
    ['src/http/routes/people.route.ts', '../../store/faces.repository.js', /http may not import from src\/store/],
    ['src/http/app.ts', '../engine/pool.js', /http may not import from src\/engine/],
    ['src/cli/commands.ts', '../store/database.js', /cli may not import from src\/store/],
    ['src/cli/commands.ts', '../engine/face-engine.js', /cli may not import from src\/engine/],
    ['src/service/enroll.service.ts', '../eval/lfw.js', /service may not import from src\/eval/],
    ['src/service/enroll.service.ts', '../http/errors.js', /service may not import from src\/http/],
    ['src/engine/face-engine.ts', '../store/database.js', /engine may not import from src\/store/],
    ['src/store/faces.repository.ts', '../engine/face-engine.js', /store may not import from src\/engine/],
    ['src/match/identify.ts', '../store/sql.js', /match may not import from src\/store/],
  ])('%s may not import %s', async (file, specifier, message) => {
    const problems = await importProblems(file, specifier);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it.each([
    ['src/http/routes/people.route.ts', '../../service/people.service.js'],
    ['src/cli/commands.ts', '../service/context.js'],
    ['src/service/enroll.service.ts', '../store/faces.repository.js'],
    ['src/service/enroll.service.ts', '../engine/face-engine.js'],
    ['src/engine/face-engine.ts', '../image/decode.js'],
    ['src/store/faces.repository.ts', '../core/face.js'],
  ])('%s may import %s', async (file, specifier) => {
    expect(await importProblems(file, specifier)).toEqual([]);
  });
});
