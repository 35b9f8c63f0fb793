<?php
define( 'DB_NAME', 'wp' );
define( 'DB_PASSWORD', 'secret' );
