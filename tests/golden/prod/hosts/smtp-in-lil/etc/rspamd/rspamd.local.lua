-- Written by mailplatform (smtp-in). Mail from outside whose From is in a hosted domain must pass
-- that domain's DMARC (the platform's own mail carries its DKIM signature), or it is refused here:
-- once in, a Sieve redirect on the maildrops would hand the forgery to smtp-out, which signs what
-- carries a hosted From (vacation replies need that). This holds whatever policy the domain
-- publishes (mailplatform:dns.dmarcPolicy): the platform knows its own mail. A DNS failure while
-- checking is a 4xx, and the sender retries.
local N = 'mailplatform'
local SYMBOL = 'MAILPLATFORM_HOSTED_FROM_FORGED'
local hosted = {}
for line in io.lines('/etc/rspamd/mailplatform-hosted-domains') do
  local domain = line:match('^%s*([^%s#]+)')
  if domain then hosted[domain:lower()] = true end
end

rspamd_config:register_symbol({
  name = SYMBOL,
  -- After every filter: DMARC's verdict is in.
  type = 'postfilter',
  callback = function(task)
    local from = task:get_from('mime') or {}
    local claimed
    for _, a in ipairs(from) do
      if a.domain and hosted[a.domain:lower()] then claimed = a.domain:lower() end
    end
    if not claimed then return end
    if task:has_symbol('DMARC_POLICY_ALLOW') or task:has_symbol('DMARC_POLICY_ALLOW_WITH_FAILURES') then return end
    if task:has_symbol('DMARC_DNSFAIL') or task:has_symbol('R_DKIM_TEMPFAIL') then
      task:insert_result(SYMBOL, 1.0, claimed, 'tempfail')
      task:set_pre_result('soft reject', 'Cannot check the DKIM signature of ' .. claimed .. ' now; try again later', N)
      return
    end
    task:insert_result(SYMBOL, 1.0, claimed)
    task:set_pre_result('reject', 'From ' .. claimed .. ' without its DKIM signature (DMARC fails): forged', N)
  end,
})
