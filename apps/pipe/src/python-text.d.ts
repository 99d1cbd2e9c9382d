/** Bun imports the hand-written Python runtime as text (`with { type: 'text' }`). */
declare module '*.py' {
  const text: string
  export default text
}
