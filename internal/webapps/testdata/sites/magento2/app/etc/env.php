<?php
return ['db' => ['connection' => ['default' => ['password' => 'secret']]]];
