<?php
$config['db_dsnw'] = 'mysql://roundcube:secret@localhost/roundcube';
$config['des_key'] = 'rcmail-!24ByteDESkey*Str';
