<?php
// Written by mailplatform. The sieve editor talks ManageSieve through the frontends (STARTTLS).
$config = [];
$config['managesieve_host'] = 'tls://imap.mail.example.net:4190';
$config['managesieve_conn_options'] = [
    'ssl' => [
        'verify_peer' => true,
        'verify_peer_name' => true,
        'cafile' => '/etc/mailplatform/tls/ca.crt',
    ],
];
// Out-of-office replies get their own tab.
$config['managesieve_vacation'] = 1;
