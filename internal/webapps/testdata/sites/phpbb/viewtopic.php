<?php
define('IN_PHPBB', true);
