<?php
$EM_CONF[$_EXTKEY] = ['title' => 'TYPO3 Core', 'version' => '11.5.13'];
