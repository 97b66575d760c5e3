# imapsieve: a message copied or moved out of Junk is reported to Rspamd as ham,
# unless it goes to Trash (deleting spam says nothing about it).
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];

if environment :matches "imap.mailbox" "*" {
  if string "${1}" "Trash" {
    stop;
  }
}

pipe :copy "rspamd-learn" ["ham"];
