<?php
$EM_CONF[$_EXTKEY] = ['title' => 'TYPO3 Core', 'version' => '8.7.32'];
