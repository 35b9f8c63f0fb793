<?php
$CONFIG = array ('dbpassword' => 'secret');
