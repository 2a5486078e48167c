// GET /api/rest/v1/api_key: the API key the request was made with (the Go
// SDK's `api_key.FindCurrent`, which fsmount calls at start to learn its
// `user_id`, so it can tell its own locks from a colleague's). The key itself
// is never shown. Choice: a session or an open API has no key → 404
// `not-found/api-key-not-found`.
import type { Handler } from '../context.js';
import { ApiError } from '../errors.js';
import { sendJson } from '../http-util.js';

export const currentApiKey: Handler = async (_ctx, call) => {
  const who = call.who!;
  if (who.apiKeyId === null) throw new ApiError('not-found/api-key-not-found', 'This request was not made with an API key.');
  sendJson(call.res, 200, {
    id: who.apiKeyId,
    descriptive_label: null,
    description: null,
    created_at: null,
    expires_at: null,
    key: null,
    last_use_at: null,
    name: `emulator key ${who.apiKeyId}`,
    permission_set: 'full',
    platform: 'none',
    url: null,
    user_id: who.user.id,
  }, call.requestId);
};
