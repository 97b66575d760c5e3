<?php
// Written by mailplatform. Holds des_key: root:www-data, 0640.
$config = [];

// Sessions, contacts and settings; Roundcube creates the schema when the file is new.
$config['db_dsnw'] = 'sqlite:////var/lib/roundcube/db/roundcube.sqlite?mode=0640';

// IMAP through the frontends, like every other client.
$config['imap_host'] = 'ssl://imap.staging.example.net:993';
$config['imap_conn_options'] = [
    'ssl' => [
        'verify_peer' => true,
        'verify_peer_name' => true,
        'cafile' => '/etc/mailplatform/tls/ca.crt',
    ],
];

// Submission through the frontends as the logged-in user (%u, %p: the IMAP login): smtp-out lets
// the login send only as the addresses it owns, and counts its rate limit and auth failures.
$config['smtp_host'] = 'tls://smtp.staging.example.net:587';
$config['smtp_user'] = '%u';
$config['smtp_pass'] = '%p';
$config['smtp_conn_options'] = [
    'ssl' => [
        'verify_peer' => true,
        'verify_peer_name' => true,
        'cafile' => '/etc/mailplatform/tls/ca.crt',
    ],
];
// smtp_conn_options apply only with a timeout set.
$config['smtp_timeout'] = 30;
// Users may not type another address as their own; smtp-out would refuse it anyway.
$config['identities_level'] = 1;
$config['max_message_size'] = 52428800;

// Behind the frontends: they terminate HTTPS; only the webmail's name is accepted as Host.
$config['use_https'] = true;
// Lax: the session cookie never rides on another site's form posts or embedded requests; Strict
// would also drop it on links followed from elsewhere (mail notices, the portal), logging users out.
$config['session_samesite'] = 'Lax';
$config['trusted_host_patterns'] = ['webmail.staging.example.net'];

$config['des_key'] = '<secret: generated in-stack>';
$config['cipher_method'] = 'AES-256-CBC';

// Logins (with the client address) go to syslog, for abuse handling.
$config['log_driver'] = 'syslog';
$config['syslog_id'] = 'roundcube';
$config['log_logins'] = true;

$config['product_name'] = 'Webmail staging.example.net';
$config['support_url'] = 'mailto:postmaster@staging.example.com';
$config['skin'] = 'elastic';
$config['default_list_mode'] = 'threads';
$config['archive_mbox'] = 'Archive';
// markasjunk moves messages in and out of Junk; the maildrops' imapsieve reports that to Rspamd.
$config['plugins'] = ['managesieve', 'archive', 'zipdownload', 'markasjunk'];
