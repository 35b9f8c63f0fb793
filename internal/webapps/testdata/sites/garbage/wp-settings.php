<?php
define( 'WPINC', 'wp-includes' );
