// The official `openai` npm client against `hearth serve` (tiny Qwen3 model): chat with and
// without streaming, forced tool calls that parse, json_schema output that validates,
// completions, models, error statuses, and 16 concurrent clients that each get the text they
// get alone. Usage: node openai_client.mjs BASE_URL API_KEY. Exits 1 on the first failure.
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 });

function check(condition, what, detail = '') {
  if (!condition) {
    console.error(`FAIL: ${what} ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

async function expectStatus(status, what, call) {
  try {
    await call();
  } catch (error) {
    check(error instanceof OpenAI.APIError && error.status === status, what,
          `${error.status} ${error.message}`);
    return error;
  }
  check(false, what, 'no error');
}

const models = await client.models.list();
const model = models.data[0]?.id;
check(typeof model === 'string', 'models.list names the model', models.data);

const messages = [{ role: 'user', content: 'Tell me about the sea.' }];
const whole = await client.chat.completions.create({ model, messages, max_tokens: 10, temperature: 0 });
const message = whole.choices[0].message;
check(message.role === 'assistant', 'chat: an assistant message', whole);
check(whole.usage.completion_tokens > 0 && whole.usage.prompt_tokens > 0, 'chat: usage', whole.usage);

const stream = await client.chat.completions.create({
  model, messages, max_tokens: 10, temperature: 0, stream: true,
  stream_options: { include_usage: true },
});
let content = '';
let reasoning = '';
let usage = null;
let finish = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  const choice = chunk.choices[0];
  if (!choice) continue;
  content += choice.delta.content ?? '';
  reasoning += choice.delta.reasoning_content ?? '';
  finish = choice.finish_reason ?? finish;
}
check(content === (message.content ?? '') && reasoning === (message.reasoning_content ?? ''),
      'stream: the deltas add up to the whole reply', { content, reasoning, message });
check(finish === whole.choices[0].finish_reason, 'stream: the same finish_reason', finish);
check(usage?.completion_tokens === whole.usage.completion_tokens, 'stream: usage at the end', usage);

const tools = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', enum: ['Paris', 'Rome'] }, celsius: { type: 'boolean' } },
      required: ['city', 'celsius'],
      additionalProperties: false,
    },
  },
}];
const called = await client.chat.completions.create({
  model, tools, tool_choice: 'required', max_tokens: 100, temperature: 0,
  messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
});
const call = called.choices[0].message.tool_calls?.[0];
check(call?.function?.name === 'get_weather', 'tool_choice required: a call', called.choices[0]);
const args = JSON.parse(call.function.arguments);
check(['Paris', 'Rome'].includes(args.city) && typeof args.celsius === 'boolean',
      'tool_choice required: arguments match the schema', args);
check(called.choices[0].finish_reason === 'tool_calls', 'tool_choice required: finish_reason', called);

// The tool result goes back in; a streamed forced call to a named function assembles.
const followUp = client.beta.chat.completions.stream({
  model, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } },
  max_tokens: 100, temperature: 0,
  messages: [
    { role: 'user', content: 'What is the weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [call] },
    { role: 'tool', tool_call_id: call.id, content: 'sunny, 21 C' },
    { role: 'user', content: 'And in Rome?' },
  ],
});
const streamedCall = (await followUp.finalChatCompletion()).choices[0].message.tool_calls?.[0];
check(streamedCall?.function?.name === 'get_weather' &&
      typeof JSON.parse(streamedCall.function.arguments).celsius === 'boolean',
      'streamed named tool call assembles and parses', streamedCall);

const schema = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, color: { enum: ['red', 'blue'] } },
  required: ['ok', 'color'],
  additionalProperties: false,
};
const structured = await client.chat.completions.create({
  model, max_tokens: 60, temperature: 0,
  messages: [{ role: 'user', content: 'Answer in JSON.' }],
  response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
});
const value = JSON.parse(structured.choices[0].message.content);
check(typeof value.ok === 'boolean' && ['red', 'blue'].includes(value.color) &&
      Object.keys(value).length === 2, 'json_schema: the reply validates', value);

const completion = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5 });
check(typeof completion.choices[0].text === 'string' && completion.usage.completion_tokens <= 5,
      'completions: text and usage', completion);

await expectStatus(401, 'a wrong key is 401', () =>
  new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 }).chat.completions.create({ model, messages }));
await expectStatus(404, 'an unknown model is 404', () =>
  client.chat.completions.create({ model: 'gpt-4o', messages }));
await expectStatus(400, 'a malformed message is 400', () =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 42 }] }));
await expectStatus(400, 'n > 1 is 400', () => client.chat.completions.create({ model, messages, n: 2 }));
const tooLong = await expectStatus(400, 'a prompt longer than the context is 400', () =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'word '.repeat(5000) }] }));
check(/longer than the context of \d+ tokens/.test(tooLong.message), 'the error says how long', tooLong.message);

// 16 concurrent clients, 2 requests each, sampled with fixed seeds: each gets its text alone.
const request = (i) => ({
  model, max_tokens: 12, temperature: 1, seed: 1000 + i,
  messages: [{ role: 'user', content: `Client ${i} says hello.` }],
});
const alone = [];
for (let i = 0; i < 16; i++) {
  alone.push((await client.chat.completions.create(request(i))).choices[0].message);
}
for (let round = 0; round < 2; round++) {
  const together = await Promise.all(Array.from({ length: 16 }, (_, i) =>
    new OpenAI({ baseURL, apiKey, maxRetries: 2 }).chat.completions.create(request(i))));
  for (let i = 0; i < 16; i++) {
    const got = together[i].choices[0].message;
    if (got.content !== alone[i].content || got.reasoning_content !== alone[i].reasoning_content) {
      check(false, `concurrent client ${i} round ${round}`, { got, alone: alone[i] });
    }
  }
}
check(true, '16 concurrent clients x 2 rounds match their solo replies');
