<?php
$wp_version = '4.7.1';
$wp_db_version = 38590;
