<?php
define('_DB_SERVER_', 'localhost');
define('_DB_NAME_', 'shop');
define('_DB_USER_', 'shop');
define('_DB_PASSWD_', 'secret');
define('_DB_PREFIX_', 'ps_');
define('_MYSQL_ENGINE_', 'InnoDB');
define('_PS_CACHING_SYSTEM_', 'CacheMemcache');
define('_PS_CACHE_ENABLED_', '0');
define('_COOKIE_KEY_', 'x');
define('_COOKIE_IV_', 'y');
define('_PS_CREATION_DATE_', '2016-03-01');
if (!defined('_PS_VERSION_'))
	define('_PS_VERSION_', '1.6.1.24');
