-- Written by mailplatform (smtp-out). Submitted mail must show the recipient a From the login owns.
-- Postfix already lets a SASL login use only the envelope senders it owns (sender-logins); here the
-- header From must be that envelope sender, so a login cannot have another user's From signed with
-- the platform's DKIM keys. Postfix refuses the null sender from logins. Mail without a login (relayed by smtp-in and the maildrops: forwards,
-- Sieve redirects, vacation replies, bounces) is not a submission and is not checked here.
local N = 'mailplatform'

local function lower_addr(a)
  return a and a.addr and a.addr:lower() or nil
end

rspamd_config:register_symbol({
  name = 'MAILPLATFORM_FROM_NOT_OWNED',
  type = 'prefilter',
  priority = 10,
  callback = function(task)
    local login = task:get_user()
    if not login then return end
    local envelope = task:get_from('smtp')
    local header = task:get_from('mime')
    local sender = envelope and lower_addr(envelope[1])
    if not header or #header ~= 1 then
      task:insert_result('MAILPLATFORM_FROM_NOT_OWNED', 1.0, 'From count')
      task:set_pre_result('reject', 'Submitted mail needs exactly one From address', N)
      return
    end
    if not sender or sender == '' or lower_addr(header[1]) ~= sender then
      task:insert_result('MAILPLATFORM_FROM_NOT_OWNED', 1.0, login)
      task:set_pre_result('reject', 'The From header must be the envelope sender, an address this login owns', N)
    end
  end,
})
