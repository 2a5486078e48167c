// /api/rest/v1/sessions (POST log in → 201 {id, …}; DELETE log out → 204) and
// /api/rest/v1/file_migrations/{id} (GET the state of a folder move/copy).
import type { Handler } from '../context.js';
import { ApiError } from '../errors.js';
import { sendJson, sendNoContent } from '../http-util.js';

export const createSession: Handler = async (ctx, call) => {
  const id = ctx.auth.login(call.params.string('username'), call.params.string('password'));
  sendJson(call.res, 201, { id, language: null, login_token: null, login_token_domain: null, max_dir_listing_size: null, multiple_regions: false, read_only: false, root_path: null, sftp_insecure_ciphers: false, site_id: null, ssl_required: true, tls_disabled: false, two_factor_setup_needed: false, allowed_2fa_method_sms: false, allowed_2fa_method_totp: false, allowed_2fa_method_u2f: false, allowed_2fa_method_webauthn: false, allowed_2fa_method_yubi: false, use_provided_modified_at: true, windows_mode_ftp: false }, call.requestId);
};

export const deleteSession: Handler = async (ctx, call) => {
  ctx.auth.logout(call.req.headers);
  sendNoContent(call.res, call.requestId);
};

export const getMigration: Handler = async (ctx, call) => {
  if (!/^\d+$/.test(call.id)) throw new ApiError('not-found', 'Not Found.  This may be related to your permissions.');
  sendJson(call.res, 200, ctx.migrations.json(ctx.migrations.get(Number(call.id))), call.requestId);
};
