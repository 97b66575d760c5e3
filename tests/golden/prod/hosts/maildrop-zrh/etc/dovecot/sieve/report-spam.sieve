# imapsieve: a message copied or moved into Junk is reported to Rspamd as spam.
require ["vnd.dovecot.pipe", "copy", "imapsieve"];

pipe :copy "rspamd-learn" ["spam"];
