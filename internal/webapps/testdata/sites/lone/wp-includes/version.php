<?php
$wp_version = '6.8.3';
