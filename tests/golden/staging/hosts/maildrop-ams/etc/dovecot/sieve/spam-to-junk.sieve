# Runs before every user's own script (sieve_before): mail the smtp-in Rspamd tagged as spam
# ("add header" action: X-Spam: Yes) goes to Junk, and the user's rules (vacation, forwards) skip it.
require ["fileinto", "mailbox"];

if anyof (header :is "X-Spam" "Yes",
          header :is "X-Spam-Flag" "YES",
          header :matches "X-Spam-Status" "Yes*") {
  fileinto :create "Junk";
  stop;
}
