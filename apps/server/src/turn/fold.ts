import type { BridgeEvent, ChatResult } from '@letta-openwebui/events'

/** Collects a whole turn into one JSON answer, for callers that cannot read a stream. */
export async function foldTurn(batches: AsyncIterable<BridgeEvent[]>): Promise<ChatResult> {
  const result: ChatResult = { answer: '', reasoning: '', tools: [], stopReason: 'end_turn' }
  const segments: string[] = []
  for await (const batch of batches)
    for (const { event, data } of batch) {
      switch (event) {
        case 'reasoning.delta':
          segments[data.segment] = (segments[data.segment] ?? '') + data.text
          break
        case 'answer.delta':
          result.answer += data.text
          break
        case 'tool.finished':
          result.tools.push(data)
          break
        case 'usage':
          result.usage = data
          break
        case 'error':
          result.error = data
          break
        case 'notice':
          result.notice = data.text
          break
        case 'approval.requested':
          result.approvals = [...(result.approvals ?? []), data]
          break
        case 'done':
          result.stopReason = data.stopReason
          break
      }
    }
  result.reasoning = segments.filter(Boolean).join('\n\n')
  return result
}
