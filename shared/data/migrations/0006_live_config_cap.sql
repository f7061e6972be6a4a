-- live/start now refuses a `config` over 8,192 bytes of compact JSON (issue 16: three 2.2 MB
-- configs took every member's meeting list past Lambda's 6 MB response limit). Sessions stored
-- before that are all failed starts (no live backend existed), their configs never read by
-- anything: the ones over the cap (measured as jsonb's text, which is never shorter than the
-- compact form but for numbers) are emptied, so the stored data fits the response budget.
UPDATE live_sessions SET config_json = '{}'::jsonb WHERE octet_length(config_json::text) > 8192;
