import type { SchemaOptions, Static, TLiteral, TSchema, TUnion } from '@sinclair/typebox'
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

export type Validator<S extends TSchema> = {
  check(value: unknown): value is Static<S>
  /** One readable line per problem, e.g. `/user/id: Expected string`. Empty when valid. */
  problems(value: unknown, limit?: number): string[]
}

/** Compiles a schema once; reuse the validator on the hot path. */
export function compileValidator<S extends TSchema>(schema: S): Validator<S> {
  const compiled = TypeCompiler.Compile(schema)
  return {
    check: (value): value is Static<S> => compiled.Check(value),
    problems(value, limit = 5) {
      const lines: string[] = []
      for (const error of compiled.Errors(value)) {
        lines.push(`${error.path || '/'}: ${error.message}`)
        if (lines.length >= limit) break
      }
      return lines
    },
  }
}

/**
 * A union of string literals built from a list (error codes, stop reasons). Typed as a
 * one-element tuple so Static<> and Elysia's inference see the literal union, not `never`.
 */
export function literalUnion<T extends string>(
  values: readonly T[],
  options?: SchemaOptions,
): TUnion<[TLiteral<T>]> {
  return Type.Union(
    values.map((value) => Type.Literal(value)),
    options,
  ) as unknown as TUnion<[TLiteral<T>]>
}
