<?php
$databases = array('default' => array('default' => array('driver' => 'mysql', 'database' => 'd7', 'username' => 'd7', 'password' => 'secret')));
