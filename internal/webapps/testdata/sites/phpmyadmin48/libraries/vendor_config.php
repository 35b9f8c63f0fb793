<?php
define('AUTOLOAD_FILE', './vendor/autoload.php');
