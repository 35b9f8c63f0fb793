<?php
include __DIR__ . '/piwik.php';
